# Offline analysis (analysis/): pytest of the loader and report.py on the real quickstart outputs of 1-4 ranks.
# Included from tests/integration/CMakeLists.txt, which defines MANYWORLDS_INTEGRATION_ENV and INTEGRATION_DIR.
set(MANYWORLDS_ANALYSIS_OUTPUTS "")
foreach(ranks 1 2 3 4)
  list(APPEND MANYWORLDS_ANALYSIS_OUTPUTS ${INTEGRATION_DIR}/ranks/ranks${ranks}.h5)
endforeach()
string(REPLACE ";" ":" MANYWORLDS_ANALYSIS_OUTPUTS "${MANYWORLDS_ANALYSIS_OUTPUTS}")

add_test(NAME integration_analysis_report
         COMMAND /usr/bin/python3 -m pytest -q -p no:cacheprovider ${CMAKE_CURRENT_LIST_DIR}/../../analysis/tests/test_analysis.py)
set_tests_properties(integration_analysis_report PROPERTIES
  ENVIRONMENT "${MANYWORLDS_INTEGRATION_ENV};MANYWORLDS_OUTPUTS=${MANYWORLDS_ANALYSIS_OUTPUTS};PYTHONDONTWRITEBYTECODE=1;MPLBACKEND=Agg"
  TIMEOUT 600 FIXTURES_REQUIRED quickstart_output)
