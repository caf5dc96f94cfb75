"""The aiohttp HTTP service."""
