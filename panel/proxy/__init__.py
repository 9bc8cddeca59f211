"""The proxy: the only code that writes nginx configuration."""
