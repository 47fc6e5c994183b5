"""Benchmarks of issue 6: ``python -m benchmarks`` runs them all and prints one table.

Each benchmark is a module with a ``run(workdir) -> list[Figure]`` and runs in a fresh
interpreter of its own (``python -m benchmarks.<name>`` runs one alone), so no benchmark
inherits another's imports, memory or rate-limit buckets. Load benchmarks start the sandbox
in a process of its own, so it does not compete with the client for the GIL.
"""
