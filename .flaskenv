# Read by the `flask` command (python-dotenv) for local development only.
# gunicorn does not read this file: production sets its environment explicitly.
FLASK_APP=wsgi
KNOTENPUNKT_ENV=development
