"""motion-recon: physics-based human motion reconstruction with learned optimizers."""

__version__ = "0.1.0"
