"""Meta-training of learned optimizers: task families, the PES estimator, the training loop."""
