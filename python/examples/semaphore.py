"""The article's Semaphore example across processes: at most 2 of the 5
processes inside at a time, machine-wide."""
import multiprocessing
import os
import time

import syncd


def limited_process(semaphore, tally, inside, most):
    with semaphore:
        with tally:
            inside.value += 1
            most.value = max(most.value, inside.value)
            print("Process %d acquired semaphore" % os.getpid(), flush=True)
        time.sleep(0.05)
        with tally:
            inside.value -= 1


if __name__ == "__main__":
    semaphore = syncd.Semaphore(2)  # allowing 2 processes at a time
    tally = syncd.Lock()
    inside = multiprocessing.RawValue("i", 0)
    most = multiprocessing.RawValue("i", 0)
    procs = [multiprocessing.Process(target=limited_process,
                                     args=(semaphore, tally, inside, most))
             for _ in range(5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print("at most %d inside at once" % most.value)
