"""``python -m bench``: every benchmark, one after the other."""

from bench import cold_import, list_page, worker_throughput

if __name__ == "__main__":
    worker_throughput.main()
    print()
    cold_import.main()
    print()
    list_page.main()
