"""Run one DAG file with ``dag.test()`` in a fresh Airflow: ``python lineage_run.py DAG_FILE``.

The OpenLineage provider decides at start-up whether it listens (its plugin reads the
transport once), so a test of its events runs in a process of its own, configured by the
environment it is given.
"""

from __future__ import annotations

import sys


def main(dag_file: str) -> None:
    from airflow.utils import db

    from airflow_provider_loopring.version_compat import dag_bag_class

    db.initdb()
    (dag,) = dag_bag_class()(dag_folder=dag_file).dags.values()
    dag_run = dag.test()
    print("DAG RUN STATE", dag_run.state)


if __name__ == "__main__":
    main(sys.argv[1])
