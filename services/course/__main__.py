"""python -m services.course"""

from servicekit.runtime import main
from services.course.bootstrap import build

main(build)
