"""Reports rendered from a ScanResult."""
