"""Real training: local data sets (images, graphs) and the training routine."""
