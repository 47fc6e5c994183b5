"""Asset URIs: the ``loopring://`` scheme (see :mod:`airflow_provider_loopring.assets.loopring`)."""
