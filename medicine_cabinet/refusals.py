"""What a role refused at the cabinet's doors was after, so that the one gate
of each boundary records the attempt (R9): on ``/api/`` the exception
handler, on the pages ``core.middleware.PageAccessMiddleware``
(:mod:`core.refusals`)."""

from core.purposes import OPERATIONS
from core.refusals import Concerns
from medicine_cabinet.services.checks import ADMINISTRATION_RESOURCE
from medicine_cabinet.services.ledger import STOCK_RESOURCE

# Another role receiving, moving, wasting or removing stock tried to move
# it: a denied movement, as the service records one it refuses itself.
MOVES_STOCK = Concerns(STOCK_RESOURCE, purpose=OPERATIONS, action="create")

# A recall answers with every citizen who received a dose from the lot: a
# refused role asked for that list, recorded as the officer's permitted
# look at it is (``selectors.recall_administrations``).
SEES_RECALLED_DOSES = Concerns(ADMINISTRATION_RESOURCE, purpose=OPERATIONS, action="search")
