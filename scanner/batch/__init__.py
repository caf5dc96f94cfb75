"""Batch jobs: the job store and the runner."""
