"""One folder per source, plus the resources every source needs."""
