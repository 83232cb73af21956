"""How fast the embedded simulator starts, answers and stops. Prints numbers; asserts nothing.

    python benchmarks/simulator_start.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    began = time.perf_counter()
    from conformance.simulator import start
    from conformance.transport import Transport
    print(f"import                     {1000 * (time.perf_counter() - began):8.1f} ms")

    starts, stops = [], []
    for _ in range(args.rounds):
        began = time.perf_counter()
        sim = start(delay=0.2)
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        sim.stop()
        stops.append(time.perf_counter() - began)
    print(f"start (history included)   {1000 * starts[0]:8.1f} ms first, "
          f"{1000 * statistics.median(starts):6.1f} ms median of {args.rounds}")
    print(f"stop                       {1000 * statistics.median(stops):8.1f} ms median")

    with start(delay=0.2) as sim:
        client = Transport(sim.base_url, sim.api_key)
        paths = {
            "services.json": "services.json",
            "services.xml": "services.xml",
            "definition .json": "services/4ffa4c69601827691b000018.json",
            "requests.json (50)": "requests.json",
            "requests.json ext (50)": "requests.json?extensions=true",
            "requests.xml ext (50)": "requests.xml?extensions=true",
            "requests.json ext (500)": "requests.json?extensions=true&page_size=500",
            "requests/{id}.json": None,
        }
        first_id = client.get("requests.json?page_size=1").body.split(b'"')[3].decode()
        for label, path in paths.items():
            path = path or f"requests/{first_id}.json"
            times = []
            for _ in range(50):
                began = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - began)
            print(f"{label:<26} {1000 * statistics.median(times):8.2f} ms median")
        began = time.perf_counter()
        for i in range(150):  # a conformance run's mix, roughly
            if i % 10 == 0:
                client.post("requests.json", {
                    "api_key": sim.api_key, "service_code": "4fd3b656e750846c53000004",
                    "address_string": "121 N LaSalle St", "attribute[WHEREIST]": "CURB"})
            else:
                client.get(("services.json", "requests.json?extensions=true",
                            "requests.xml")[i % 3])
        print(f"150 mixed requests         {1000 * (time.perf_counter() - began):8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
