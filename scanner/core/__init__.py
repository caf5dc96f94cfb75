"""Pure core: models, errors, policy and the verdict of a scan."""
