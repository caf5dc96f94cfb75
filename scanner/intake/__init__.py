"""Everything that touches hostile bytes before analysis: upload, archive, loader."""
