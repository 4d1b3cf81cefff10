"""End-to-end flows composed from the library, and the ``recon`` command line."""
