"""python -m services.media"""

from servicekit.runtime import main
from services.media.bootstrap import build

main(build)
