#include <catch2/catch.hpp>

#include <cmath>

#include "base/json.h"

TEST_CASE("json writer nests, separates and escapes", "[pki][json]") {
  certwatch::JsonWriter w;
  w.begin_object()
      .key("s").value("a\"b\\c\n\x01")
      .key("n").value(int64_t{-3})
      .key("b").value(true)
      .key("arr").begin_array().value(1).value("x").begin_object().end_object().end_array()
      .key("nan").value(std::nan(""))
      .key("z").null()
      .end_object();
  CHECK(w.str() ==
        R"({"s":"a\"b\\c\n\u0001","n":-3,"b":true,"arr":[1,"x",{}],"nan":null,"z":null})");
}
