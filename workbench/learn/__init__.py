"""learn: the only torch code: encoders, SSL, classifiers, training, inference, export.

Import the submodules you need (e.g. ``workbench.learn.mlppa``); nothing heavy is imported here.
"""
