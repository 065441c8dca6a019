"""Hand-offs with 1813, hospitals, GPs and the municipalities' home nursing."""
