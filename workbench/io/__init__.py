"""I/O layer: Collection storage, readers (FITS, filterbank), label store. No torch, no widgets."""
