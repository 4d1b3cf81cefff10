"""Looking at reconstructions: overlay videos (and, later, the interactive viewer)."""
