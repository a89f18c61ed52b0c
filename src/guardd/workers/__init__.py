"""A pool of worker processes for GIL-bound work (presidio, spaCy) kept off the event loop."""
