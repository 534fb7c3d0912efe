"""What auditors run on their own machine: ``osv-verify`` (the hash chains against the heads given out) and ``osv-replay`` (the report rebuilt from the feeds)."""
