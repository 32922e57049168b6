"""Images in: sources, the decode path, the decoded-image cache, patient-grouped splits and folds."""
