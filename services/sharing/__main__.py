"""python -m services.sharing"""

from servicekit.runtime import main
from services.sharing.bootstrap import build

main(build)
