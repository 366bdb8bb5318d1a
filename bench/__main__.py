"""``python -m bench [--messages N]``: every benchmark, one after the other."""

import sys

from bench import cold_import, console_load, data_lifetime, end_to_end, list_page, worker_throughput

if __name__ == "__main__":
    worker_throughput.main()
    print()
    cold_import.main()
    print()
    list_page.main()
    print()
    console_load.main()
    print()
    end_to_end.main(sys.argv[1:])
    print()
    data_lifetime.main(sys.argv[1:])
