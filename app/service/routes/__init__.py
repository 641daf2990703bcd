"""HTTP routes of the service. Every module here exporting an APIRouter named `router` is mounted by
`create_app` (other concerns add theirs, e.g. `alerts.py`)."""
