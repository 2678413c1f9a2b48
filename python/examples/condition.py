"""The article's fourth primitive, a Condition, across processes: a
consumer process waits until a producer process has filled a shared
array."""
import multiprocessing

import syncd


def consumer(cond, items, count):
    with cond:
        cond.wait_for(lambda: count.value == len(items))
        print("consumer got", list(items), flush=True)


def producer(cond, items, count):
    for i in range(len(items)):
        with cond:
            items[i] = i * i
            count.value += 1
            cond.notify()


if __name__ == "__main__":
    cond = syncd.Condition()
    items = multiprocessing.RawArray("i", 10)
    count = multiprocessing.RawValue("i", 0)
    c = multiprocessing.Process(target=consumer, args=(cond, items, count))
    p = multiprocessing.Process(target=producer, args=(cond, items, count))
    c.start()
    p.start()
    p.join()
    c.join()
