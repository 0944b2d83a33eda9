"""python -m services.identity"""

from servicekit.runtime import main
from services.identity.bootstrap import build

main(build)
