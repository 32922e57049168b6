-- An Optuna SQLite study written by main at 3ff72d3 (square sizes only): 'mammosearch run' of SQUARE_SPACE in
-- tests/search/test_square_study_resume.py, dumped with sqlite3 iterdump; @RESULTS@ stands for its results folder.
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('v3.2.0.a');
CREATE TABLE studies (
	study_id INTEGER NOT NULL, 
	study_name VARCHAR(512) NOT NULL, 
	PRIMARY KEY (study_id)
);
INSERT INTO "studies" VALUES(1,'square');
CREATE TABLE study_directions (
	study_direction_id INTEGER NOT NULL, 
	direction VARCHAR(8) NOT NULL, 
	study_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	PRIMARY KEY (study_direction_id), 
	UNIQUE (study_id, objective), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_directions" VALUES(1,'MAXIMIZE',1,0);
CREATE TABLE study_system_attributes (
	study_system_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_system_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
CREATE TABLE study_user_attributes (
	study_user_attribute_id INTEGER NOT NULL, 
	study_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (study_user_attribute_id), 
	UNIQUE (study_id, "key"), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "study_user_attributes" VALUES(1,1,'search_space','{"checks.patients": "\"optional\"", "checks.photometry": "\"auto\"", "data.difficulty": "0.5", "data.image_size": "32", "data.images_per_patient": "2", "data.malignant_fraction": "0.5", "data.n_images": "48", "data.seed": "1", "data.source": "\"synthetic\"", "evaluation.cv_folds": "null", "evaluation.seed": "0", "model.cnn.dense_units": "8", "model.cnn.dropout": "0.1", "model.cnn.filters": "4", "model.cnn.kernel_size": "3", "model.families": "[\"cnn\"]", "model.head.dense_units": "[64, 128]", "model.head.dropout": "float 0.2..0.5", "model.heads": "[\"dense_bn_dropout\", \"gap_dropout\"]", "model.input_size": "[32, 24]", "split.seed": "0", "split.test": "0.0", "split.validation": "0.25", "study.objective": "\"val_auc\"", "training.augmentation.contrast": "0.0", "training.augmentation.flip": "false", "training.augmentation.rotation": "0.0", "training.augmentation.zoom": "0.0", "training.augmentation_views": "8", "training.batch_size": "8", "training.cache_activations": "true", "training.class_weights": "true", "training.epochs": "1", "training.fine_tune": "[false, true]", "training.fine_tune_epochs": "2", "training.fine_tune_learning_rate": "float 1e-05..0.0001 log", "training.learning_rate": "float 0.0003..0.003 log", "training.optimizer": "\"adam\"", "training.unfrozen_layers": "int 1..4"}');
INSERT INTO "study_user_attributes" VALUES(2,1,'study_uid','"c6e8e77dd4334cb8940464d1fee7f502"');
INSERT INTO "study_user_attributes" VALUES(3,1,'data_description','"synthetic phantoms: 48 images, 24 malignant, 24 patients, 32 px, difficulty 0.5, seed 1"');
INSERT INTO "study_user_attributes" VALUES(4,1,'data_notes','[]');
INSERT INTO "study_user_attributes" VALUES(5,1,'space_source','"space.yaml"');
INSERT INTO "study_user_attributes" VALUES(6,1,'channels','1');
INSERT INTO "study_user_attributes" VALUES(7,1,'results_dir','"@RESULTS@"');
INSERT INTO "study_user_attributes" VALUES(8,1,'keep_top_k','3');
INSERT INTO "study_user_attributes" VALUES(9,1,'decode_recipe','"decode: PNG/JPEG/PGM/TIFF with Pillow (EXIF orientation applied, alpha dropped, palette expanded, more than 8 bits stretched from the image''s own min..max to 0..255); DICOM with pydicom (rescale slope/intercept, VOI LUT or window centre/width when present else the image''s own range, MONOCHROME1 inverted so dense tissue is bright, to 8 bits after windowing); crop by the source (lesions), or under data.crop to the breast''s bounding box (threshold, opening, largest connected region; kept whole where none is found) and under data.orient mirrored so the chest wall is on the left (DICOM laterality, else the image); resize to a square with Pillow bilinear (reducing_gap=3.0): a cropped breast keeps its aspect ratio, padded black at the right and bottom, anything else is stretched; a JPEG resized whole and not cropped is decoded at the smallest JPEG scale (1/2, 1/4, 1/8) not below that square (Pillow draft)"');
INSERT INTO "study_user_attributes" VALUES(10,1,'fingerprint','{"version": 4, "description": "synthetic phantoms: 48 images, 24 malignant, 24 patients, 32 px, difficulty 0.5, seed 1", "images": 48, "counts": [{"split": "train", "benign": 18, "malignant": 18, "patients": 18}, {"split": "val", "benign": 6, "malignant": 6, "patients": 6}], "photometry": {"policy": "auto", "flipped": 0, "looks_inverted": 0, "undetermined": 0, "tag_inverted": 0, "table": [{"split": "train", "benign_inverted": 0, "benign_images": 18, "malignant_inverted": 0, "malignant_images": 18}, {"split": "val", "benign_inverted": 0, "benign_images": 6, "malignant_inverted": 0, "malignant_images": 6}, {"split": "all", "benign_inverted": 0, "benign_images": 24, "malignant_inverted": 0, "malignant_images": 24}]}, "patients": {"source": "source", "patients": 24, "both_classes": 0, "suggested_regex": null, "suggestion": null}, "near_duplicates": {"pairs": 0, "max_distance": 12, "listed": []}, "shortcuts": {"statistics": ["intensity histogram", "corner brightness"], "scores": {"val": {"auc": 0.13888888888888887, "ci95": [0.0, 0.4375]}}, "acquisition_scores": {"val": {"auc": 0.25, "ci95": [0.0, 0.7]}}, "strongest": "intensity histogram", "strongest_auc": 0.08333333333333331, "predicts_label": false, "acquisition_predicts_label": false}, "sizes": {"stored_min": [32, 32], "stored_median": [32, 32], "stored_max": [32, 32], "image_size": 32, "upscaled": 0, "bits": {"8": 48}, "cut_from_files": 0}, "framing": null, "warnings": []}');
INSERT INTO "study_user_attributes" VALUES(11,1,'trivial_baseline','{"name": "trivial baseline (intensity histogram, corner brightness)", "auc": 0.22222222222222224, "ci95": [0.0, 0.75], "fold_aucs": [0.22222222222222224], "evaluated_on": "the validation split"}');
INSERT INTO "study_user_attributes" VALUES(12,1,'task','{"name": "benign_vs_malignant", "negative": "benign", "positive": "malignant", "unit": "synthetic phantom", "intended_use": "research on telling malignant from benign in synthetic phantoms (output: the probability of malignant); not a medical device, not validated for clinical use", "classes": {"0": "benign", "1": "malignant"}}');
INSERT INTO "study_user_attributes" VALUES(13,1,'training_patients','["syn1-0001", "syn1-0002", "syn1-0003", "syn1-0004", "syn1-0005", "syn1-0006", "syn1-0007", "syn1-0008", "syn1-0009", "syn1-0010", "syn1-0011", "syn1-0012", "syn1-0013", "syn1-0014", "syn1-0015", "syn1-0016", "syn1-0017", "syn1-0018", "syn1-0019", "syn1-0020", "syn1-0021", "syn1-0022", "syn1-0023", "syn1-0024"]');
INSERT INTO "study_user_attributes" VALUES(14,1,'split_seed','0');
INSERT INTO "study_user_attributes" VALUES(15,1,'patient_source','"source"');
INSERT INTO "study_user_attributes" VALUES(16,1,'image_size','32');
INSERT INTO "study_user_attributes" VALUES(17,1,'photometry','"as_is"');
INSERT INTO "study_user_attributes" VALUES(18,1,'framing','{"crop": false, "orient": false, "crop_margin": 0.02}');
INSERT INTO "study_user_attributes" VALUES(19,1,'setup_data_key','"05a962de6f18c4fb378c6f0d75e96294"');
INSERT INTO "study_user_attributes" VALUES(20,1,'last_run_end','{"stopped_by": "trials", "timeout_seconds": null, "finished_trials": 1}');
CREATE TABLE trial_heartbeats (
	trial_heartbeat_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	heartbeat DATETIME NOT NULL, 
	PRIMARY KEY (trial_heartbeat_id), 
	UNIQUE (trial_id), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_heartbeats" VALUES(1,1,'2026-12-05 00:08:40');
CREATE TABLE trial_intermediate_values (
	trial_intermediate_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	intermediate_value FLOAT, 
	intermediate_value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_intermediate_value_id), 
	UNIQUE (trial_id, step), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_intermediate_values" VALUES(1,1,0,7.77777777777777790113e-01,'FINITE');
CREATE TABLE trial_params (
	param_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	param_name VARCHAR(512), 
	param_value FLOAT, 
	distribution_json TEXT, 
	PRIMARY KEY (param_id), 
	UNIQUE (trial_id, param_name), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_params" VALUES(1,1,'input_size',0.0,'{"name": "CategoricalDistribution", "attributes": {"choices": [32, 24]}}');
INSERT INTO "trial_params" VALUES(2,1,'learning_rate',7.69707025053729823951e-04,'{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0003, "high": 0.003, "log": true}}');
CREATE TABLE trial_system_attributes (
	trial_system_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_system_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE trial_user_attributes (
	trial_user_attribute_id INTEGER NOT NULL, 
	trial_id INTEGER, 
	"key" VARCHAR(512), 
	value_json TEXT, 
	PRIMARY KEY (trial_user_attribute_id), 
	UNIQUE (trial_id, "key"), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_user_attributes" VALUES(1,1,'params','{"family": "cnn", "input_size": 32, "optimizer": "adam", "learning_rate": 0.0007697070250537298, "batch_size": 8, "epochs": 1, "augmentation": {"flip": false, "rotation": 0.0, "zoom": 0.0, "contrast": 0.0}, "class_weights": true, "weights": null, "cnn": {"filters": 4, "kernel_size": 3, "dense_units": 8, "dropout": 0.1}, "head": null, "fine_tune": false, "unfrozen_layers": 0, "fine_tune_learning_rate": null, "fine_tune_epochs": 0, "seed": 30021}');
INSERT INTO "trial_user_attributes" VALUES(2,1,'step_unit','"epoch"');
INSERT INTO "trial_user_attributes" VALUES(3,1,'sampler_seed','1576890651');
INSERT INTO "trial_user_attributes" VALUES(4,1,'process','"vm:31926"');
INSERT INTO "trial_user_attributes" VALUES(5,1,'training_path','"full network"');
INSERT INTO "trial_user_attributes" VALUES(6,1,'best_epoch','1');
INSERT INTO "trial_user_attributes" VALUES(7,1,'epochs_trained','1');
INSERT INTO "trial_user_attributes" VALUES(8,1,'history','[{"epoch": 1, "accuracy": 0.5, "loss": 0.7206318974494934, "val_loss": 0.6869006336049392, "val_auc": 0.7777777777777778, "val_accuracy": 0.5}]');
INSERT INTO "trial_user_attributes" VALUES(9,1,'val_metrics','{"n": 12, "n_positive": 6, "auc": 0.7777777777777778, "average_precision": 0.8263888888888888, "roc": {"fpr": [0.0, 0.0, 0.0, 0.3333333333333333, 0.3333333333333333, 0.5, 0.5, 1.0], "tpr": [0.0, 0.16666666666666666, 0.5, 0.5, 0.6666666666666666, 0.6666666666666666, 1.0, 1.0]}, "at_0.5": {"threshold": 0.5, "accuracy": 0.5, "precision": 0.5, "recall": 1.0, "sensitivity": 1.0, "specificity": 0.0, "f1": 0.6666666666666666, "npv": 0.0, "confusion_matrix": [[0, 6], [0, 6]]}, "youden_threshold": 0.5503799915313721, "threshold_source": "youden", "at_youden": {"threshold": 0.5503799915313721, "accuracy": 0.75, "precision": 1.0, "recall": 0.5, "sensitivity": 0.5, "specificity": 1.0, "f1": 0.6666666666666666, "npv": 0.6666666666666666, "confusion_matrix": [[6, 0], [3, 3]]}, "collapsed": true, "auc_ci95": [0.4375, 1.0]}');
INSERT INTO "trial_user_attributes" VALUES(10,1,'fit_seconds','5.747');
INSERT INTO "trial_user_attributes" VALUES(11,1,'trial_seconds','5.838');
INSERT INTO "trial_user_attributes" VALUES(12,1,'model_path','"results/square/trials/00000/model.keras"');
INSERT INTO "trial_user_attributes" VALUES(13,1,'model_host','"vm"');
CREATE TABLE trial_values (
	trial_value_id INTEGER NOT NULL, 
	trial_id INTEGER NOT NULL, 
	objective INTEGER NOT NULL, 
	value FLOAT, 
	value_type VARCHAR(7) NOT NULL, 
	PRIMARY KEY (trial_value_id), 
	UNIQUE (trial_id, objective), 
	FOREIGN KEY(trial_id) REFERENCES trials (trial_id)
);
INSERT INTO "trial_values" VALUES(1,1,0,7.77777777777777790113e-01,'FINITE');
CREATE TABLE trials (
	trial_id INTEGER NOT NULL, 
	number INTEGER, 
	study_id INTEGER, 
	state VARCHAR(8) NOT NULL, 
	datetime_start DATETIME, 
	datetime_complete DATETIME, 
	PRIMARY KEY (trial_id), 
	FOREIGN KEY(study_id) REFERENCES studies (study_id)
);
INSERT INTO "trials" VALUES(1,0,1,'COMPLETE','2026-12-05 00:08:40.691572','2026-12-05 00:08:47.245513');
CREATE TABLE version_info (
	version_info_id INTEGER NOT NULL, 
	schema_version INTEGER, 
	library_version VARCHAR(256), 
	PRIMARY KEY (version_info_id), 
	CHECK (version_info_id=1)
);
INSERT INTO "version_info" VALUES(1,12,'5.1.0');
CREATE UNIQUE INDEX ix_studies_study_name ON studies (study_name);
CREATE INDEX ix_trials_study_id ON trials (study_id);
COMMIT;