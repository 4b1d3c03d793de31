"""Any torch.nn.Module as a space (registered by .space), traced through torch.fx by .fx."""
