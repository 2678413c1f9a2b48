"""The article's Event example across processes."""
import multiprocessing

import syncd


def wait_for_event(event, waiting):
    print("Waiting for the event to be set...", flush=True)
    waiting.set()
    event.wait()
    print("Event has been set!", flush=True)


def set_event(event, waiting):
    waiting.wait()
    print("Setting the event...", flush=True)
    event.set()


if __name__ == "__main__":
    event = syncd.Event()
    waiting = syncd.Event()  # only so that the output's order is always the same
    process1 = multiprocessing.Process(target=wait_for_event, args=(event, waiting))
    process2 = multiprocessing.Process(target=set_event, args=(event, waiting))
    process1.start()
    process2.start()
    process1.join()
    process2.join()
