"""The article's Lock example across processes: `import syncd` in place of
threading's Lock, multiprocessing.Process in place of threading.Thread.
Processes share no globals, so the counter lives in shared memory and both
are handed to each process (a syncd object pickles by name); this works
with every start method (fork, spawn, forkserver)."""
import multiprocessing

import syncd


def increment_counter(counter, counter_lock, times):
    for _ in range(times):
        with counter_lock:
            counter.value += 1


if __name__ == "__main__":
    counter = multiprocessing.RawValue("i", 0)  # no lock of its own
    counter_lock = syncd.Lock()
    procs = [multiprocessing.Process(target=increment_counter,
                                     args=(counter, counter_lock, 1000))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print("counter =", counter.value)  # always 4000
