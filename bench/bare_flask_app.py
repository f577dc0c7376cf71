"""The smallest Flask app under gunicorn: bench_mock.py times its start-up beside the mock's, as the
floor any Flask-based mock starts from on the same machine (importing Flask is most of it)."""
from flask import Flask

app = Flask(__name__)


@app.get("/__admin/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
