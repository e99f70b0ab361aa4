"""Create or drop a scratch PostgreSQL database next to a given URL; print its URL on create.

Usage: python .ci/pgdb.py create|drop BASE_URL NAME
"""

import sys

import sqlalchemy as sa

action, base, name = sys.argv[1:]
engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
with engine.connect() as connection:
    connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if action == "create":
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        print(sa.make_url(base).set(database=name).render_as_string(hide_password=False))
engine.dispose()
