"""dbt projects as input: the compiled `manifest.json` read into datacanary's Project, plus dbt's own
contract rules and `state:modified+` selection. Pure: the manifest text and files come in as values."""
