"""What the user asked for: YAML (+ --set) -> a frozen, validated Space (its parameter specs and TrialParams are in ``spec``)."""
