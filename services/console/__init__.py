"""The console: a read-only downstream web service over the published score topics."""
