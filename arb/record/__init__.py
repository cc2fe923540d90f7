"""Record and replay: venue traffic to disk, and back through the real pipeline."""
