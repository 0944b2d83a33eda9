"""python -m services.review"""

from servicekit.runtime import main
from services.review.bootstrap import build

main(build)
