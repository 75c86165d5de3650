# Gregor build. `make` builds build/gregor; `make unit` runs the cmocka unit
# tests; `make asan` builds and runs them under ASan+UBSan in build/asan;
# `make CC=clang` builds with clang. Generated protocol codecs go to
# $(B)/gen and are remade whenever the schemas or the generator change.

CC      ?= cc
B       ?= build
PKGS    := libuv rdkafka zlib liblz4 libzstd
CSTD    := -std=c17 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  += $(CSTD) $(WARN) $(OPT) $(SAN) -pthread -Isrc -I$(B)/gen -MMD -MP \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lsnappy -lpthread -lm
LDFLAGS += $(SAN)

SRCS      := $(sort $(wildcard src/*/*.c))
GEN_SRCS  := $(B)/gen/kafka_msgs.c
MAIN_SRC  := src/server/main.c
LIB_SRCS  := $(filter-out $(MAIN_SRC),$(SRCS))
LIB_OBJS  := $(patsubst src/%.c,$(B)/obj/%.o,$(LIB_SRCS)) $(B)/obj/gen/kafka_msgs.o
MAIN_OBJ  := $(B)/obj/server/main.o
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
SCHEMAS   := $(wildcard schemas/messages/*.json schemas/metadata/*.json schemas/coordinator/*.json)

.PHONY: all unit asan clean fuzz docs

all: $(B)/gregor

$(B)/gen/kafka_msgs.c $(B)/gen/kafka_msgs.h &: tools/gen_protocol.py $(SCHEMAS)
	@mkdir -p $(B)/gen
	python3 tools/gen_protocol.py $(B)/gen schemas/messages schemas/metadata schemas/coordinator

$(B)/obj/%.o: src/%.c $(B)/gen/kafka_msgs.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/obj/gen/kafka_msgs.o: $(B)/gen/kafka_msgs.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-function -c $< -o $@

$(B)/libgregor.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/gregor: $(MAIN_OBJ) $(B)/libgregor.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libgregor.a
	@mkdir -p $(B)/tests
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(B)/libgregor.a $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

asan:
	$(MAKE) B=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" unit

docs: $(B)/gregor
	$(B)/gregor config-doc > docs/configuration.md
	$(B)/gregor protocol-doc > docs/protocol.md

clean:
	rm -rf build

-include $(shell find $(B)/obj $(B)/tests -name '*.d' 2>/dev/null)
