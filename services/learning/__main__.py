"""python -m services.learning"""

from servicekit.runtime import main
from services.learning.bootstrap import build

main(build)
