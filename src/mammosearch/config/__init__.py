"""What the user asked for: YAML (+ --set) -> a frozen, validated Space; parameter specs and TrialParams."""
