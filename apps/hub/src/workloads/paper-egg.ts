/**
 * Pterodactyl's Paper egg, verbatim: pterodactyl/panel database/Seeders/eggs/minecraft/egg-paper.json
 * at commit 706db62c64d180f224f56c62953172c27daa5826 (MIT licence, Copyright (c) Pterodactyl
 * Software). The Minecraft template is this egg run through the importer, so the template and
 * an import of the real egg cannot drift apart (a test compares them).
 */
export const PAPER_EGG = {
  _comment: 'DO NOT EDIT: FILE GENERATED AUTOMATICALLY BY PTERODACTYL PANEL - PTERODACTYL.IO',
  meta: {
    version: 'PTDL_v2',
    update_url: null,
  },
  exported_at: '2024-05-07T12:55:55+00:00',
  name: 'Paper',
  author: 'parker@pterodactyl.io',
  description: 'High performance Spigot fork that aims to fix gameplay and mechanics inconsistencies.',
  features: ['eula', 'java_version', 'pid_limit'],
  docker_images: {
    'Java 21': 'ghcr.io/pterodactyl/yolks:java_21',
    'Java 17': 'ghcr.io/pterodactyl/yolks:java_17',
    'Java 16': 'ghcr.io/pterodactyl/yolks:java_16',
    'Java 11': 'ghcr.io/pterodactyl/yolks:java_11',
    'Java 8': 'ghcr.io/pterodactyl/yolks:java_8',
  },
  file_denylist: [],
  startup:
    'java -Xms128M -XX:MaxRAMPercentage=95.0 -Dterminal.jline=false -Dterminal.ansi=true -jar {{SERVER_JARFILE}}',
  config: {
    files:
      '{\r\n    "server.properties": {\r\n        "parser": "properties",\r\n        "find": {\r\n            "server-ip": "0.0.0.0",\r\n            "server-port": "{{server.build.default.port}}",\r\n            "query.port": "{{server.build.default.port}}"\r\n        }\r\n    }\r\n}',
    startup: '{\r\n    "done": ")! For help, type "\r\n}',
    logs: '{}',
    stop: 'stop',
  },
  scripts: {
    installation: {
      script:
        '#!/bin/ash\r\n# Paper Installation Script\r\n#\r\n# Server Files: /mnt/server\r\nPROJECT=paper\r\n\r\nif [ -n "${DL_PATH}" ]; then\r\n\techo -e "Using supplied download url: ${DL_PATH}"\r\n\tDOWNLOAD_URL=`eval echo $(echo ${DL_PATH} | sed -e \'s/{{/${/g\' -e \'s/}}/}/g\')`\r\nelse\r\n\tVER_EXISTS=`curl -s https://api.papermc.io/v2/projects/${PROJECT} | jq -r --arg VERSION $MINECRAFT_VERSION \'.versions[] | contains($VERSION)\' | grep -m1 true`\r\n\tLATEST_VERSION=`curl -s https://api.papermc.io/v2/projects/${PROJECT} | jq -r \'.versions\' | jq -r \'.[-1]\'`\r\n\r\n\tif [ "${VER_EXISTS}" == "true" ]; then\r\n\t\techo -e "Version is valid. Using version ${MINECRAFT_VERSION}"\r\n\telse\r\n\t\techo -e "Specified version not found. Defaulting to the latest ${PROJECT} version"\r\n\t\tMINECRAFT_VERSION=${LATEST_VERSION}\r\n\tfi\r\n\r\n\tBUILD_EXISTS=`curl -s https://api.papermc.io/v2/projects/${PROJECT}/versions/${MINECRAFT_VERSION} | jq -r --arg BUILD ${BUILD_NUMBER} \'.builds[] | tostring | contains($BUILD)\' | grep -m1 true`\r\n\tLATEST_BUILD=`curl -s https://api.papermc.io/v2/projects/${PROJECT}/versions/${MINECRAFT_VERSION} | jq -r \'.builds\' | jq -r \'.[-1]\'`\r\n\r\n\tif [ "${BUILD_EXISTS}" == "true" ]; then\r\n\t\techo -e "Build is valid for version ${MINECRAFT_VERSION}. Using build ${BUILD_NUMBER}"\r\n\telse\r\n\t\techo -e "Using the latest ${PROJECT} build for version ${MINECRAFT_VERSION}"\r\n\t\tBUILD_NUMBER=${LATEST_BUILD}\r\n\tfi\r\n\r\n\tJAR_NAME=${PROJECT}-${MINECRAFT_VERSION}-${BUILD_NUMBER}.jar\r\n\r\n\techo "Version being downloaded"\r\n\techo -e "MC Version: ${MINECRAFT_VERSION}"\r\n\techo -e "Build: ${BUILD_NUMBER}"\r\n\techo -e "JAR Name of Build: ${JAR_NAME}"\r\n\tDOWNLOAD_URL=https://api.papermc.io/v2/projects/${PROJECT}/versions/${MINECRAFT_VERSION}/builds/${BUILD_NUMBER}/downloads/${JAR_NAME}\r\nfi\r\n\r\ncd /mnt/server\r\n\r\necho -e "Running curl -o ${SERVER_JARFILE} ${DOWNLOAD_URL}"\r\n\r\nif [ -f ${SERVER_JARFILE} ]; then\r\n\tmv ${SERVER_JARFILE} ${SERVER_JARFILE}.old\r\nfi\r\n\r\ncurl -o ${SERVER_JARFILE} ${DOWNLOAD_URL}\r\n\r\nif [ ! -f server.properties ]; then\r\n    echo -e "Downloading MC server.properties"\r\n    curl -o server.properties https://raw.githubusercontent.com/parkervcp/eggs/master/minecraft/java/server.properties\r\nfi',
      container: 'ghcr.io/pterodactyl/installers:alpine',
      entrypoint: 'ash',
    },
  },
  variables: [
    {
      name: 'Minecraft Version',
      description:
        'The version of minecraft to download. \r\n\r\nLeave at latest to always get the latest version. Invalid versions will default to latest.',
      env_variable: 'MINECRAFT_VERSION',
      default_value: 'latest',
      user_viewable: true,
      user_editable: true,
      rules: 'nullable|string|max:20',
      field_type: 'text',
    },
    {
      name: 'Server Jar File',
      description: 'The name of the server jarfile to run the server with.',
      env_variable: 'SERVER_JARFILE',
      default_value: 'server.jar',
      user_viewable: true,
      user_editable: true,
      rules: 'required|regex:/^([\\w\\d._-]+)(\\.jar)$/',
      field_type: 'text',
    },
    {
      name: 'Download Path',
      description:
        'A URL to use to download a server.jar rather than the ones in the install script. This is not user viewable.',
      env_variable: 'DL_PATH',
      default_value: '',
      user_viewable: false,
      user_editable: false,
      rules: 'nullable|string',
      field_type: 'text',
    },
    {
      name: 'Build Number',
      description:
        'The build number for the paper release.\r\n\r\nLeave at latest to always get the latest version. Invalid versions will default to latest.',
      env_variable: 'BUILD_NUMBER',
      default_value: 'latest',
      user_viewable: true,
      user_editable: true,
      rules: 'required|string|max:20',
      field_type: 'text',
    },
  ],
} as const;
