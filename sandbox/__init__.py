"""Process sandbox: a supervised pool of worker processes that run the CPU-bound analyzers."""
