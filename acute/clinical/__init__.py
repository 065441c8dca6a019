"""On the visit: predefined lab tests (R7), delegated procedures and physician
phone orders (R8). A Django app of its own (label ``clinical``) inside ``acute/``."""
