"""active: acquisition functions, queue building and the retraining loop."""
