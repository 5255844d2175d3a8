// Where the sample project lives (projects/samples/spam-ham/, prepared by
// packaging/sample_project.sh) and whether it is ready, so the main window can open it
// on the first start.
#pragma once
#include <QString>

// The sample project folder if it is prepared (project.json and experiments.sqlite
// exist), else an empty string. Looks only in $LW_SAMPLE_PROJECT when set, else in
// projects/samples/spam-ham/ above the executable's folder (build/bin -> repo root), then
// under the current folder.
QString preparedSampleProjectDir();
